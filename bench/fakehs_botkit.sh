# bench-fakehs bot spec for botkit (../shared/bench/bench-fakehs, which sources it):
#
#   BENCH_VENV=$PWD/.venv ../shared/bench/bench-fakehs -n 5000 -c "1:0 1:500 100:0" \
#       raw botkit=$PWD/bench/fakehs_botkit.sh
#
# botkit runs from this checkout with the echo plugin (which answers the harness's
# "!ping" with content.pong.ping), twim and the pong test plugin, as `make bench` does;
# the SQLite database and the rendered config live in the run's fresh @@DATA@@.
BOTKIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOT_CONFIG_NAME='config.yaml'
# The template names the plugin folders of this checkout; the harness fills in the rest.
BOT_CONFIG_TEMPLATE="${TMPDIR:-/tmp}/botkit-fakehs-template.yaml"
sed "s|@BOTKIT_ROOT@|$BOTKIT_ROOT|g" "$BOTKIT_ROOT/bench/fakehs_botkit.yaml" >"$BOT_CONFIG_TEMPLATE"
BOT_CMD="env PYTHONPATH=$BOTKIT_ROOT $BOTKIT_ROOT/.venv/bin/python -m botkit run -c @@CONFIG@@"
BOT_START_DELAY=2
BOT_SKIP_SYNCS=0
