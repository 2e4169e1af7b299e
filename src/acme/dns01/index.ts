// What the ACME solver needs from DNS-01: the providers, the propagation check, and their shared types.
export type { Dns01Provider, ServerAddress, TxtRecord } from './types.ts';
export { createRfc2136Provider, type Rfc2136Config, type Rfc2136Options } from './rfc2136.ts';
export { createWebhookProvider, type WebhookConfig, type WebhookRequest } from './webhook.ts';
export { checkTxtPropagation, findAuthoritativeNameservers, type DnsQueryOptions, type PropagationCheck, type PropagationResult } from './propagation.ts';
