#!/bin/sh
# Redis backups in object storage, and their restore. One step per call, each run in the image that has its tool:
#
#   redis-backup.sh dump         (redis image)   an RDB snapshot over the replication protocol → $WORK/snapshot.rdb
#   redis-backup.sh upload       (rclone image)  → backup:$BACKUP_PATH/redis-<UTC time>.rdb; older than KEEP_DAYS deleted
#   redis-backup.sh download     (rclone image)  the newest snapshot (or $SNAPSHOT) → $DATA/dump.rdb, the AOF removed
#   redis-backup.sh rebuild-aof  (redis image)   loads $DATA/dump.rdb and writes the AOF from it, then stops
#
# Why rebuild-aof: the pulse's Redis runs with appendonly yes, and Redis then loads only its AOF: an RDB put beside
# no AOF would be ignored and the server would start empty. So the restore loads the RDB with the AOF off, turns
# it on (Redis rewrites the AOF from memory), waits for the rewrite, and shuts down; Redis then starts from it.
#
# Settings (environment): REDIS_HOST, REDIS_PORT (6379), REDISCLI_AUTH (the password: never on a command line),
# WORK (/work), DATA (/data), BACKUP_PATH (bucket/prefix in the `backup` remote), KEEP_DAYS (14), SNAPSHOT.
# The remote is rclone's: RCLONE_CONFIG_BACKUP_TYPE=s3, _PROVIDER, _ENDPOINT, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY…
set -eu
WORK=${WORK:-/work}
DATA=${DATA:-/data}
KEEP_DAYS=${KEEP_DAYS:-14}

case "${1:-}" in
  dump)
    redis-cli -h "${REDIS_HOST:-redis}" -p "${REDIS_PORT:-6379}" --rdb "$WORK/snapshot.rdb"
    ;;
  upload)
    name="redis-$(date -u +%Y%m%dT%H%M%SZ).rdb"
    rclone copyto "$WORK/snapshot.rdb" "backup:${BACKUP_PATH:?}/$name"
    rclone delete --min-age "${KEEP_DAYS}d" --include 'redis-*.rdb' "backup:$BACKUP_PATH"
    echo "uploaded $name"
    ;;
  download)
    snapshot=${SNAPSHOT:-$(rclone lsf --include 'redis-*.rdb' "backup:${BACKUP_PATH:?}" | sort | tail -n 1)}
    [ -n "$snapshot" ] || { echo "no snapshot in backup:$BACKUP_PATH" >&2; exit 1; }
    rclone copyto "backup:$BACKUP_PATH/$snapshot" "$DATA/dump.rdb"
    rm -rf "$DATA/appendonlydir" "$DATA/appendonly.aof"
    echo "restored $snapshot into $DATA/dump.rdb"
    ;;
  rebuild-aof)
    unset REDISCLI_AUTH  # a private server on localhost, without a password
    port=${REBUILD_PORT:-6390}
    redis-server --port "$port" --bind 127.0.0.1 --dir "$DATA" --dbfilename dump.rdb --appendonly no --save '' &
    until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do sleep 0.2; done  # PONG once loaded
    redis-cli -p "$port" config set appendonly yes >/dev/null
    until redis-cli -p "$port" info persistence | tr -d '\r' | grep -q '^aof_rewrite_in_progress:0' &&
          redis-cli -p "$port" info persistence | tr -d '\r' | grep -q '^aof_rewrite_scheduled:0' &&
          redis-cli -p "$port" info persistence | tr -d '\r' | grep -q '^aof_enabled:1'; do sleep 0.2; done
    redis-cli -p "$port" info persistence | tr -d '\r' | grep -q '^aof_last_bgrewrite_status:ok' ||
      { echo "the AOF rewrite failed" >&2; exit 1; }
    keys=$(redis-cli -p "$port" dbsize)
    redis-cli -p "$port" shutdown nosave
    wait
    echo "rebuilt the AOF in $DATA from the snapshot: $keys keys"
    ;;
  *)
    echo "usage: redis-backup.sh dump|upload|download|rebuild-aof" >&2
    exit 2
    ;;
esac
