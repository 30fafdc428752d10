#!/bin/sh
# secrets.sh MESAOPT DIR: makes DIR/secrets for DIR/compose.yaml — the CA
# and certificates of `mesaopt certs init` (server certificates also name
# coordinator-1 and coordinator-2) and a gossip key — unless they exist,
# and lets the containers' user read them: as root, by giving them to
# 65532, the image's user; otherwise by running the containers as you
# (MESAOPT_UID/MESAOPT_GID in DIR/.env, which compose reads).
set -eu
mesaopt=$1
dir=$2
secrets=$dir/secrets
if [ ! -f "$secrets/ca.pem" ]; then
  "$mesaopt" certs init "$secrets" --host coordinator-1,coordinator-2
fi
if [ ! -f "$secrets/gossip.key" ]; then
  (umask 077 && "$mesaopt" gossip-key > "$secrets/gossip.key")
fi
if [ "$(id -u)" = 0 ]; then
  chown -R 65532:65532 "$secrets"
  rm -f "$dir/.env"
  user=65532
else
  printf 'MESAOPT_UID=%s\nMESAOPT_GID=%s\n' "$(id -u)" "$(id -g)" > "$dir/.env"
  user=$(id -u)
fi
echo "secrets in $secrets, readable by user $user, whom the mesaopt containers run as"
