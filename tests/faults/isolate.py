#!/usr/bin/env python3
"""Runs a command in a mount namespace of its own, for the fault matrix's
faults of the machine (tests/faults):

  isolate.py [--no-dns] [--tmpfs DIR:SIZE]... [--read-only DIR]... -- COMMAND...

--no-dns       host names are looked up in /etc/hosts only (an nsswitch.conf
               of "hosts: files" over the machine's): a name that is not
               there fails at once, as when DNS fails, and no query can
               leave the machine; addresses (127.0.0.1) still connect
--tmpfs D:S    a fresh tmpfs of size S (as mount(8) takes it: 2m) on D
               ("the filesystem is full")
--read-only D  D bind-mounted onto itself read-only ("read-only filesystem")

The mounts are private to the command: they go with it. As root (CI) the
namespace is made directly; otherwise in a user namespace of one's own,
mapped to the caller, where the kernel allows these mounts too. Prints
nothing of its own; exits 125 when the namespace or a mount cannot be made.
"""
import ctypes
import errno
import os
import sys
import tempfile

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

libc = ctypes.CDLL(None, use_errno=True)


def die(what):
    err = ctypes.get_errno()
    print(f"isolate.py: {what}: {os.strerror(err)}", file=sys.stderr)
    sys.exit(125)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def mount(source, target, fstype, flags, data):
    if libc.mount(source.encode() if source else None, target.encode(),
                  fstype.encode() if fstype else None, flags,
                  data.encode() if data else None) != 0:
        die(f"mount {target}")


def shared_mounts():
    """Whether a mount here propagates to another namespace
    (mountinfo(5): a "shared:N" optional field)."""
    with open("/proc/self/mountinfo") as f:
        return any(" shared:" in line.split(" - ")[0] for line in f)


def hosts_from_files_only():
    with tempfile.NamedTemporaryFile("w", prefix="isolate-nsswitch-", delete=False) as f:
        f.write("hosts: files\n")
    mount(f.name, "/etc/nsswitch.conf", None, MS_BIND, None)
    os.unlink(f.name)  # the mount holds it


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    split = argv.index("--")
    opts, command = argv[:split], argv[split + 1:]
    no_dns, tmpfs, read_only = False, [], []
    i = 0
    while i < len(opts):
        if opts[i] == "--no-dns":
            no_dns = True
        elif opts[i] == "--tmpfs" and i + 1 < len(opts):
            d, _, size = opts[i + 1].rpartition(":")
            tmpfs.append((d, size))
            i += 1
        elif opts[i] == "--read-only" and i + 1 < len(opts):
            read_only.append(opts[i + 1])
            i += 1
        else:
            print(f"isolate.py: unknown option {opts[i]}", file=sys.stderr)
            sys.exit(2)
        i += 1
    if not command:
        print("isolate.py: no command", file=sys.stderr)
        sys.exit(2)

    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS
    if uid != 0:
        flags |= CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        die("unshare (are user namespaces allowed here?)")
    if uid != 0:
        write("/proc/self/setgroups", "deny")
        write("/proc/self/uid_map", f"{uid} {uid} 1")
        write("/proc/self/gid_map", f"{gid} {gid} 1")
    # Nothing mounted here reaches the rest of the machine.
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        # In a chroot whose root is no mount point (CI's fresh system) "/"
        # cannot be changed; its mounts were copied private if none is
        # shared, and then nothing reaches out either.
        if ctypes.get_errno() != errno.EINVAL or shared_mounts():
            die("making the mounts private")
    for d, size in tmpfs:
        mount("tmpfs", d, "tmpfs", 0, f"size={size},mode=0700")
    for d in read_only:
        mount(d, d, None, MS_BIND, None)
        mount(None, d, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
    if no_dns:
        hosts_from_files_only()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
