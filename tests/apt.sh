# Shared by tests/services.sh and tests/browser.sh (sourced; each defines its own `say`):
# running as root or through passwordless sudo, and installing Debian packages with apt.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    return 1
  fi
}

# apt_install WHAT PACKAGE...: install with apt, or say how to and exit 1.
apt_install() {
  local what=$1
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    say "Please install $what."
    exit 1
  fi
  say "installing $* with apt"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; then
    say "Could not install $*: run as root, or install it yourself:"
    say "  sudo apt-get install -y $*"
    exit 1
  fi
}
