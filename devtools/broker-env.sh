# Sourced by `make` and CI: make sure a RabbitMQ broker answers, and export AMQP_URL.
#
# With AMQP_URL already set, that broker is used as it is. Otherwise, when this
# machine has RabbitMQ installed, it is started if needed and used; without
# either, the tests fall back to testcontainers.

if [ -z "${AMQP_URL:-}" ] && command -v rabbitmq-server >/dev/null 2>&1; then
    if ! rabbitmqctl -q status >/dev/null 2>&1; then
        echo "starting the local RabbitMQ server" >&2
        rabbitmq-server -detached
    fi
    # `await_startup` returns once the broker accepts connections.
    rabbitmqctl -q await_startup --timeout 120 >/dev/null
    export AMQP_URL="amqp://guest:guest@127.0.0.1:5672/"
fi
