# Sourced by scripts/setup, scripts/build-image and scripts/build-base-image.
#
# apt_install PKG...  installs the Debian packages that are missing, with apt-get, as root or
#                     with password-less sudo; returns 1 (installing nothing) when it cannot.

apt_missing() {
    local p missing=()
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    echo "${missing[@]}"
}

apt_install() {
    local missing sudo=""
    missing=$(apt_missing "$@")
    [[ -z "$missing" ]] && return 0
    command -v apt-get >/dev/null 2>&1 || return 1
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else return 1; fi
    fi
    echo "apt-get install $missing" >&2
    # shellcheck disable=SC2086 # word splitting of the package list is wanted
    $sudo apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
