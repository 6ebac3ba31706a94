"""The process a command runs in, as every command shares it: its stderr (`streams`: a closed
or unwritable stderr changes no exit code), its stop signals (`signals`: Ctrl-C and SIGTERM end
in one line) and torchrun's environment (`environment`: RANK, LOCAL_RANK, WORLD_SIZE, read and
checked in one place). sgns.commands, which every console script runs, sets them up before the
command's module is imported.
"""
