// Answers a hostile server gives, shared by the tests of the operator's outbound clients. Not a test file itself.
import type http from 'node:http';

/**
 * Writes 64 KiB chunks of `fill`, as fast as the client reads them, until it goes away; then reports how many bytes
 * were written (the client's body cap is what stopped it).
 */
export function writeEndlessly(res: http.ServerResponse, fill: string, onClose?: (bytesWritten: number) => void): void {
  const chunk = Buffer.alloc(64 * 1024, fill);
  let sent = 0;
  const pump = () => {
    while (!res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
  };
  if (onClose) res.on('close', () => onClose(sent));
  pump();
}
