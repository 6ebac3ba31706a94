"""Whether a folder may hold the native kernel: a library loaded runs its code in the process, so
its folder must be private, as ssh takes ~/.ssh (sgns.train.native.build keeps the kernel in one).
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import stat

log = logging.getLogger(__name__)


def private_group(gid: int) -> bool:
    """Whether group `gid` is this user's private group, as Debian's ssh takes one (umask 002:
    folders 775): the user's own group, named as the user, of no other member."""
    try:
        user, group = pwd.getpwuid(os.getuid()), grp.getgrgid(gid)
    except KeyError:
        return False
    if gid != user.pw_gid or group.gr_name != user.pw_name or set(group.gr_mem) - {user.pw_name}:
        return False
    return all(other.pw_uid == user.pw_uid for other in pwd.getpwall() if other.pw_gid == gid)


def others_write(info: os.stat_result) -> bool:
    """Whether another user can write the file or folder `info` tells of: others, or a group
    that is not this user's private one."""
    return bool(info.st_mode & 0o002 or info.st_mode & 0o020 and not private_group(info.st_gid))


def make_private(folder: str) -> None:
    """Make `folder` and each folder missing above it, mode 700 (os.makedirs gives those above
    the umask's mode: 775 under umask 002)."""
    missing, path = [], os.path.abspath(folder)
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:  # (another process made it: checked as any folder is)
            continue
        os.chmod(path, 0o700)  # (mkdir's mode is cut by the umask: 000 under umask 777)


def refusal(folder: str) -> str | None:
    """Why `folder` may not hold the kernel, or None when it is private (made when missing;
    OSError when it cannot be): a library put there by another user would run its code in this
    process under the kernel's name. As ssh checks ~/.ssh: the folder is this user's, not a
    link, and so is every folder above it up to the home folder (whoever can write that can run
    code as this user already: ~/.bashrc, Python's user site-packages), or it is root's; none
    written by another user, but a sticky one (/tmp: no one else can rename what is this user's
    in it). The folder itself, this user's, is made mode 700 if others can write it (the files
    there are checked one by one: sgns.train.native.build)."""
    make_private(folder)
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if info.st_uid != os.getuid():
        return f"belongs to uid {info.st_uid}, not to this user (uid {os.getuid()})"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    home = os.path.expanduser("~")
    home = os.path.realpath(home) if os.path.isabs(home) else None
    above = os.path.dirname(os.path.realpath(folder))
    while above != home:
        up = os.stat(above)
        if up.st_uid not in (0, os.getuid()):
            return f"is inside {above}, which belongs to uid {up.st_uid}"
        if others_write(up) and not up.st_mode & stat.S_ISVTX:
            return f"is inside {above}, which others can write (mode {stat.S_IMODE(up.st_mode):o})"
        if os.path.dirname(above) == above:
            break
        above = os.path.dirname(above)
    if others_write(info):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            if os.fstat(fd).st_ino != info.st_ino:
                return "was replaced while it was checked"
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
        log.warning("the kernel cache %s could be written by others (mode %o): made private "
                    "(700)", folder, stat.S_IMODE(info.st_mode))  # fmt: skip
    return None
