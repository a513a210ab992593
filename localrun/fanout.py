"""`--emulator --fanout`: a timer with AML_FANOUT=queue, then its queue workers as the host would run them (four
competing instances, redelivery, the poison queue: localrun.hostloop), on a private Azurite and the fake Azure."""

from __future__ import annotations

import os
from collections.abc import Callable

from localrun.console import SetupError, say
from localrun.emulator import run_emulated
from localrun.settings_file import patched_environ
from shared.functions import WORKERS

INSTANCES = 4  # worker instances competing for the messages


def run_fanout(function: str, fire: Callable[[Callable[[], None] | None], int]) -> int:
    """Start Azurite, run the timer on the emulator with AML_FANOUT=queue, drain its worker's queue; stop Azurite."""
    from localrun.azurite import Azurite

    [worker] = [worker for worker in WORKERS if function in (timer.name for timer in worker.timers)] or [None]
    if worker is None:
        raise SetupError(f"--fanout: {function} hands no work to a queue worker")
    server = Azurite()
    try:
        with patched_environ({"AzureWebJobsStorage": server.connection_string, "AML_FANOUT": "queue"}):
            def then_drain(epilogue: Callable[[], None] | None) -> int:
                status = fire(None)
                if status == 0:
                    status = _drain(worker)
                if epilogue is not None:
                    epilogue()
                return status

            return run_emulated(function, then_drain)
    finally:
        server.stop()


def _drain(worker) -> int:
    import importlib

    from localrun.hostloop import drain, queue_and_poison
    from localrun.invoke import logs_to_stdout
    from shared.settings import load_pipeline_settings

    settings = load_pipeline_settings(os.environ)  # only the storage and the identity are read here
    main = importlib.import_module(worker.name).main  # the folder, as the worker process imports it
    queues = queue_and_poison(settings, worker.queue)
    with logs_to_stdout(worker.name, []):
        drained = drain(*queues, main, instances=INSTANCES)
    say(f"hostloop: {worker.queue}: {drained.done} message(s) done by {worker.name} ({INSTANCES} instances), "
        f"{drained.failed} failed attempt(s), {len(drained.poisoned)} poisoned")
    return 1 if drained.poisoned else 0
