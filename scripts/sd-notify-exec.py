#!/usr/bin/env python3
# Connects $NOTIFY_SOCKET, then exec()s the daemon in this same process (see src/util/sd-notify.ts).
#
# Why a wrapper at all: Node.js cannot open an AF_UNIX datagram socket without a compiled addon, and
# a helper process of its own would be a different PID, which systemd refuses under
# NotifyAccess=main. exec() keeps the PID, so the datagrams that node writes to the inherited
# descriptor come from the unit's main process. Python 3 is part of Raspberry Pi OS and Debian.
#
# Usage: sd-notify-exec.py /usr/bin/node /opt/actor-recognizer/dist/src/main.js start [...]
import os
import socket
import sys

FD_VARIABLE = "NOTIFY_SOCKET_FD"


def connect(path: str) -> int:
    # A leading '@' names a socket in the abstract namespace (sd_notify(3)).
    address = "\0" + path[1:] if path.startswith("@") else path
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.connect(address)
    fd = os.dup(sock.fileno())
    sock.close()
    # Python opens descriptors close-on-exec; this one must survive the exec into node.
    os.set_inheritable(fd, True)
    return fd


def main() -> None:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: sd-notify-exec.py PROGRAM [ARGS...]\n")
        sys.exit(2)
    path = os.environ.get("NOTIFY_SOCKET")
    if path:
        try:
            os.environ[FD_VARIABLE] = str(connect(path))
        except OSError as err:
            # Starting without readiness is better than not starting; systemd will say why it waits.
            sys.stderr.write(f"sd-notify-exec: cannot connect NOTIFY_SOCKET {path}: {err}\n")
    else:
        os.environ.pop(FD_VARIABLE, None)
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
