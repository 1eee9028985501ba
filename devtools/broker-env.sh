# Sourced by `make` and CI: make sure a RabbitMQ broker answers, and export AMQP_URL.
#
# With AMQP_URL already set, that broker is used as it is. Otherwise the local
# RabbitMQ server is started if needed; where none is installed, it is
# installed with the system's package manager (apt, as root or with sudo), or
# run in a container where a Docker engine answers. Failing all of these, the
# caller stops with one line that says what to install.

_offload_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

_offload_broker() {
    if command -v rabbitmq-server >/dev/null 2>&1 || {
        command -v apt-get >/dev/null 2>&1 &&
        echo "installing RabbitMQ with apt-get (once)" >&2 &&
        _offload_as_root apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive _offload_as_root apt-get install -y -qq rabbitmq-server >/dev/null
    }; then
        if ! rabbitmqctl -q status >/dev/null 2>&1; then
            echo "starting the local RabbitMQ server" >&2
            _offload_as_root rabbitmq-server -detached
        fi
        # `await_startup` returns once the broker accepts connections.
        _offload_as_root rabbitmqctl -q await_startup --timeout 120 >/dev/null || return 1
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        if ! docker start offload-rabbitmq >/dev/null 2>&1; then
            echo "starting RabbitMQ in a container (offload-rabbitmq)" >&2
            docker run -d --name offload-rabbitmq -p 127.0.0.1:5672:5672 rabbitmq:3.13 >/dev/null || return 1
        fi
        docker exec offload-rabbitmq rabbitmqctl -q await_startup --timeout 120 >/dev/null || return 1
        # `make run` creates the broker users with rabbitmqctl: the container's own.
        export RABBITMQCTL="docker exec -i offload-rabbitmq rabbitmqctl"
    else
        echo "Offload needs RabbitMQ: install rabbitmq-server (or Docker), or set AMQP_URL to a broker" >&2
        return 1
    fi
    export AMQP_URL="amqp://guest:guest@127.0.0.1:5672/"
}

[ -n "${AMQP_URL:-}" ] || _offload_broker
