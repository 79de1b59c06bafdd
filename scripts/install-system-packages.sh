#!/usr/bin/env bash
# Installs the Debian packages Ember's sandbox uses, when run as root on Debian or
# Ubuntu and they are missing. Elsewhere it says what is missing and carries on:
# Ember then falls back to its plain-process driver (see docs/sandbox.md).
set -euo pipefail
PACKAGES=(bubblewrap slirp4netns libseccomp2)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "warning: missing system packages (${missing[*]}); install them as root for the bubblewrap sandbox" >&2
fi
