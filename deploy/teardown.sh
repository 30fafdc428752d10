#!/bin/sh
# teardown.sh PROJECT: removes every container (running or not), network
# and volume labelled with compose project PROJECT, including containers
# started by hand with that label (the deploy test's replacement worker).
# `docker compose down` needs the compose file and its variables; this
# needs only the name, so it also cleans up after a killed test.
set -u
label="label=com.docker.compose.project=$1"
ids=$(docker ps -aq --filter "$label")
[ -n "$ids" ] && docker rm -f -v $ids >/dev/null
ids=$(docker network ls -q --filter "$label")
[ -n "$ids" ] && docker network rm $ids >/dev/null
ids=$(docker volume ls -q --filter "$label")
[ -n "$ids" ] && docker volume rm -f $ids >/dev/null
exit 0
