# Sourced by `make test`: find the PostgreSQL server the PostgreSQL tests use.
#
# TEST_POSTGRES_URL names one; by default it is the local server on
# 127.0.0.1:5432 (user postgres, database test, trust auth). A local cluster
# that is installed but down is started. Without a server, the tests that need
# one are skipped, and this says so before the run.

_offload_postgres() {
    if [ -n "${TEST_POSTGRES_URL:-}" ] || [ "${OFFLOAD_SKIP_POSTGRES:-}" = 1 ]; then
        return 0
    fi
    if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432 &&
        command -v pg_ctlcluster >/dev/null 2>&1; then
        for version in $(ls /etc/postgresql 2>/dev/null); do
            echo "starting the local PostgreSQL $version server" >&2
            pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
        done
    fi
    if ! command -v pg_isready >/dev/null 2>&1 || ! pg_isready -q -h 127.0.0.1 -p 5432 -t 10; then
        echo "no PostgreSQL on 127.0.0.1:5432: the PostgreSQL tests will be skipped" \
             "(set TEST_POSTGRES_URL to run them)" >&2
        export OFFLOAD_SKIP_POSTGRES=1
    fi
}

_offload_postgres
