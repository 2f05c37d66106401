"""Asynchronous work: the thread-pool model chosen once at start-up.

``glance-api`` sets ``eventlet`` (green threads) before anything else; the
command-line tools set ``native`` (OS threads). Code that runs work in the
background asks ``get_threadpool_model()`` for the model and never names
eventlet itself, so it runs unchanged under either.
"""
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

_THREADPOOL_MODEL = None


class ThreadPoolModelNotSet(RuntimeError):
    """No thread-pool model was chosen in this process: its start-up did
    not call ``set_threadpool_model`` (the bootstrap does)."""


class ThreadPoolModel:
    """A pool of workers of one kind; subclasses pick the executor."""

    DEFAULTSIZE = 1

    def __init__(self, size=None):
        if size is None:
            size = self.DEFAULTSIZE
        self.pool = self.get_threadpool_executor_class()(size)
        self.size = size

    @staticmethod
    def get_threadpool_executor_class():
        raise NotImplementedError()

    def spawn(self, fn, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` on the pool; returns a future."""
        LOG.debug("Spawning %s on %s", getattr(fn, "__name__", fn),
                  type(self).__name__)
        return self.pool.submit(fn, *args, **kwargs)

    def map(self, fn, iterable):
        """Results of ``fn`` over ``iterable``, in order, up to ``size``
        calls running at once."""
        return self.pool.map(fn, iterable)

    @property
    def statistics(self):
        """futurist's executor statistics (executed, failures, runtime)."""
        return self.pool.statistics

    def shutdown(self, wait=True):
        self.pool.shutdown(wait=wait)


class EventletThreadPoolModel(ThreadPoolModel):
    """Green threads, for the eventlet-served daemon."""

    DEFAULTSIZE = 1024

    @staticmethod
    def get_threadpool_executor_class():
        import futurist
        return futurist.GreenThreadPoolExecutor


class NativeThreadPoolModel(ThreadPoolModel):
    """OS threads, for command-line tools and WSGI containers."""

    DEFAULTSIZE = 16

    @staticmethod
    def get_threadpool_executor_class():
        import futurist
        return futurist.ThreadPoolExecutor


_MODELS = {"eventlet": EventletThreadPoolModel,
           "native": NativeThreadPoolModel}


def set_threadpool_model(thread_type):
    """Choose the model once per process: 'eventlet' or 'native'."""
    global _THREADPOOL_MODEL
    model = _MODELS.get(thread_type.lower() if thread_type else None)
    if model is None:
        raise RuntimeError("Unknown thread pool model %r" % (thread_type,))
    if _THREADPOOL_MODEL is not None and _THREADPOOL_MODEL is not model:
        raise RuntimeError("Thread pool model already set to %s" %
                           _THREADPOOL_MODEL.__name__)
    _THREADPOOL_MODEL = model


def get_threadpool_model():
    """The model class chosen at start-up (ThreadPoolModelNotSet if none
    was: a real check, since ``python -O`` strips ``assert``)."""
    if _THREADPOOL_MODEL is None:
        raise ThreadPoolModelNotSet("Thread pool model not set")
    return _THREADPOOL_MODEL


def _reset_threadpool_model():
    """For tests only: forget the chosen model."""
    global _THREADPOOL_MODEL
    _THREADPOOL_MODEL = None
