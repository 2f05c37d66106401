"""Run a function in a forked child, its result as the exit code."""
import multiprocessing
import os
import traceback

FORK = multiprocessing.get_context("fork")


def in_child(target, *args):
    """Start ``target(*args)`` in a forked child; its process (its exit
    code: what ``target`` returned, 99 if it raised)."""
    process = FORK.Process(target=_exit_with, args=(target,) + args)
    process.start()
    return process


def _exit_with(target, *args):
    try:
        code = target(*args)
    except BaseException:
        traceback.print_exc()
        code = 99
    os._exit(code or 0)
