# shellcheck shell=bash
# What the test scripts share (sourced by servers.sh and remote-host.sh).

# Installs Debian's packages "$@" without starting their system services.
install() {
    local policy=/usr/sbin/policy-rc.d added=""
    if [ "$(id -u)" = 0 ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1
    fi
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null ||
        { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null; }
    [ -z "$added" ] || rm -f "$policy"
}
