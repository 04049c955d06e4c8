#!/bin/bash
# Health probe of a carewatch container: exits 0 when the service's admin
# endpoint (default /readyz) answers 200. Uses bash's /dev/tcp, so the image
# needs no HTTP client. Port: $CAREWATCH_ADMIN_PORT, else 9100.
#   healthcheck [/readyz | /livez]
set -u
path="${1:-/readyz}"
port="${CAREWATCH_ADMIN_PORT:-9100}"
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
read -r -t 5 _ code _ <&3 || exit 1
[ "$code" = 200 ]
