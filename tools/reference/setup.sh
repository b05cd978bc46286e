#!/bin/sh
# Installs the reference's only dependencies: Debian bookworm's PyTorch (1.13.1, CPU) and numpy.
# Run the reference with /usr/bin/python3 (a pyenv or venv python on PATH will not see them).
set -eu
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update
$SUDO apt-get install -y python3-torch python3-numpy
/usr/bin/python3 -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'
