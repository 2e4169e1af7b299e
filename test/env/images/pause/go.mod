module certsmith.dev/test/env/images/pause

go 1.22
