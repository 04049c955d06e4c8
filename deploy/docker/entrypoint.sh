#!/bin/sh
# Entrypoint of the carewatch image. The first argument says what runs:
#   <service> [options]    carewatch-<service>; its configuration is
#                          $CAREWATCH_CONFIG, else $CAREWATCH_CONFIG_DIR/<service>.yaml
#                          (/etc/carewatch/<service>.yaml) when that file exists
#   carewatch [arguments]  the operator's command line (`carewatch ledger verify ...`)
#   list                   the services this image holds, one a line
# Every configuration key can also be set as CAREWATCH_<KEY> in the environment.
set -eu

bin_dir="${CAREWATCH_BIN_DIR:-/usr/local/bin}"
config_dir="${CAREWATCH_CONFIG_DIR:-/etc/carewatch}"

list() {
    for b in "$bin_dir"/carewatch-*; do
        [ -x "$b" ] && echo "${b##*/carewatch-}"
    done
}

if [ $# -eq 0 ]; then
    echo "usage: <service> [options] | carewatch [arguments] | list" >&2
    exit 2
fi
what="$1"
shift
case "$what" in
    list) list; exit 0 ;;
    carewatch) exec "$bin_dir/carewatch" "$@" ;;
esac
if [ ! -x "$bin_dir/carewatch-$what" ]; then
    echo "unknown service '$what'; this image holds:" >&2
    list >&2
    exit 2
fi
if [ -z "${CAREWATCH_CONFIG:-}" ] && [ -f "$config_dir/$what.yaml" ]; then
    CAREWATCH_CONFIG="$config_dir/$what.yaml"
    export CAREWATCH_CONFIG
fi
exec "$bin_dir/carewatch-$what" "$@"
