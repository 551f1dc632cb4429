# Sourced by the scripts/ensure_*.sh: `apt_install "why" pkg…` installs Debian packages with apt-get
# (through sudo when not root), or says clearly why it cannot and exits 1.
apt_install() {
    local why=$1
    shift
    echo "== installing Debian's $* ($why)"
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: $* missing and apt-get is not available; install them yourself" >&2
        exit 1
    fi
    local sudo=""
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "error: $* missing; run as root (or install sudo): apt-get install -y $*" >&2
            exit 1
        fi
    fi
    if ! $sudo apt-get update -qq || ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"; then
        echo "error: could not install $* with apt-get (offline, or not in the sources?)" >&2
        exit 1
    fi
}
