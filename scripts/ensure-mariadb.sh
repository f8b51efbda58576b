#!/usr/bin/env bash
# Makes sure two MariaDB servers answer on loopback with the test account
# the suite uses (storetest.DefaultDSN, storetest.DefaultDSN2): the system's
# on 3306 and a second one on 3307, so that tests place counties on two
# real clusters. Reuses reachable ones, else installs Debian's
# mariadb-server, starts the servers and creates the account. Idempotent,
# and quick when everything is already there.
set -euo pipefail

user=countycloud
pass=countycloud
host=127.0.0.1
port=3306
port2=3307
datadir2=/var/lib/mysql-countycloud2

if [ -n "${COUNTYCLOUD_TEST_MYSQL_DSN:-}" ]; then
  echo "mariadb: using COUNTYCLOUD_TEST_MYSQL_DSN"
  exit 0
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

can_login() {
  command -v mariadb >/dev/null 2>&1 &&
    mariadb --protocol=tcp -h"$host" -P"$1" -u"$user" -p"$pass" -e 'SELECT 1' >/dev/null 2>&1
}

# Schema-per-county needs table caches sized for thousands of tables
# (docs/operations.md); MariaDB's defaults (400 table definitions) thrash.
# InnoDB keeps at most innodb_open_files tablespaces open and closes the
# least used beyond that; it must stay well below the process's limit of
# open files (20,000 on CI machines, which the server cannot raise), or
# creating the 18,000th table fails with "errno: 168". Tests run in
# parallel, each with pools of its own: the default 151 connections run
# out.
settings="table_definition_cache=20000 table_open_cache=20000 innodb_open_files=10000 max_connections=1000"

# enough_connections raises a running server's connection limit, which
# a configuration written before the limit was (or a server started
# before it) left at the default; the limit is dynamic.
enough_connections() {
  mariadb --protocol=tcp -h"$host" -P"$1" -u"$user" -p"$pass" \
    -e 'SET GLOBAL max_connections = GREATEST(@@max_connections, 1000)' >/dev/null
}

if can_login "$port" && can_login "$port2"; then
  enough_connections "$port"
  enough_connections "$port2"
  echo "mariadb: reachable at $host:$port and $host:$port2"
  exit 0
fi

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "mariadb: installing mariadb-server from Debian packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d in containers may refuse to start services during install;
  # the server is started below either way.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
fi

conf=/etc/mysql/mariadb.conf.d/90-countycloud.cnf
if [ -d "$(dirname "$conf")" ] && [ ! -f "$conf" ]; then
  printf '[mariadbd]\n%s\n' "$(echo "$settings" | tr ' ' '\n')" | as_root tee "$conf" >/dev/null
fi

if ! as_root mariadb-admin ping >/dev/null 2>&1; then
  echo "mariadb: starting the server"
  if [ ! -d /var/lib/mysql/mysql ]; then
    as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  as_root install -d -o mysql -g mysql /run/mysqld
  as_root setsid mariadbd-safe --user=mysql >/dev/null 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    as_root mariadb-admin ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  as_root mariadb-admin ping >/dev/null
fi

# The second server: its own data directory and socket, no system config.
socket2=/run/mysqld/countycloud2.sock
if ! as_root mariadb-admin --socket="$socket2" ping >/dev/null 2>&1; then
  echo "mariadb: starting the second server on $port2"
  if [ ! -d "$datadir2/mysql" ]; then
    as_root mariadb-install-db --no-defaults --user=mysql --datadir="$datadir2" >/dev/null
  fi
  as_root setsid mariadbd --no-defaults --user=mysql --datadir="$datadir2" \
    --bind-address="$host" --port="$port2" --socket="$socket2" \
    --pid-file=/run/mysqld/countycloud2.pid --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_unicode_ci $(printf -- '--%s ' $settings) >/dev/null 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    as_root mariadb-admin --socket="$socket2" ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  as_root mariadb-admin --socket="$socket2" ping >/dev/null
fi

# The account creates and drops each test's own schemas, so it needs
# rights on every schema; it is reachable from loopback only.
for socket in /run/mysqld/mysqld.sock "$socket2"; do
  as_root mariadb -uroot --socket="$socket" <<SQL
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$pass';
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'localhost';
SQL
done

for p in "$port" "$port2"; do
  if ! can_login "$p"; then
    echo "mariadb: a server runs but $user cannot log in over TCP at $host:$p" >&2
    exit 1
  fi
  enough_connections "$p"
done
echo "mariadb: ready at $host:$port and $host:$port2"
