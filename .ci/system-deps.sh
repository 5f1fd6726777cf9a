#!/bin/sh
# Installs the system packages the tests drive for real: Debian's Chromium, Dovecot and
# PostgreSQL, and openssl, which makes the throw-away certificates of the TLS tests.
set -e
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/sbin/dovecot ] || missing="$missing dovecot-imapd"
command -v openssl >/dev/null || missing="$missing openssl"
# PostgreSQL's server: the search tests start a throwaway cluster (initdb, pg_ctl).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing system packages:$missing (install them, or run make test as root)" >&2
    exit 1
fi
echo "installing system packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The test suite runs its own Dovecot on a free port; the packaged service is not needed.
systemctl disable --now dovecot >/dev/null 2>&1 || true
systemctl disable --now postgresql >/dev/null 2>&1 || true  # ours run on a free port
