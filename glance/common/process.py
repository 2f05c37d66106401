"""Per-process singletons and the one fork check.

A forked worker must not use its parent's task pool, notifier thread,
database engine or image cache: each is a lazy per-process singleton, a
module global built on first use. Instead of each module comparing a
remembered pid with ``os.getpid()``, a module names its singletons here
(:func:`per_process`) and one ``os.register_at_fork`` hook forgets them
in every child (gunicorn's ``post_fork``), which builds its own on first
use. :func:`after_fork` registers what else a child must do first (the
database engine drops its parent's connections without closing them).

The log handlers get new locks in every child too: with eventlet, oslo.log
makes each handler's lock a pipe holding one byte, which a forked child
shares with its parent. A child killed while it logs (a worker stopped in
the middle of its boot) would take the byte with it, and the parent's
next log line would wait for it forever.
"""
import logging
import os
import sys
import threading

_GLOBALS = []     # (module name, names set to None, names given new locks)
_CALLBACKS = []   # run in a forked child before the globals are forgotten


def per_process(module_name, *names, locks=()):
    """Forget the globals ``names`` of ``module_name`` in a forked child,
    and give its ``locks`` new locks (a thread of the parent may have held
    one when it forked)."""
    _GLOBALS.append((module_name, names, tuple(locks)))


def after_fork(callback):
    """Run ``callback()`` in each forked child (usable as a decorator)."""
    _CALLBACKS.append(callback)
    return callback


def _new_log_locks():
    for ref in list(logging._handlerList):  # noqa: SLF001 - every handler
        handler = ref()
        if handler is not None:
            handler.createLock()


def _after_fork_in_child():
    _new_log_locks()
    for callback in _CALLBACKS:
        callback()
    for module_name, names, locks in _GLOBALS:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name in locks:
            setattr(module, name, threading.Lock())
        for name in names:
            setattr(module, name, None)


os.register_at_fork(after_in_child=_after_fork_in_child)
