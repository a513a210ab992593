"""What the Functions host does with a queue trigger, done here so the workers run as they would in Azure: for the
tests and `python -m localrun ... --fanout`. A developer tool, never deployed.

The host's queue extension (Microsoft Learn, "Azure Queue storage trigger for Azure Functions", and host.json's
`extensions.queues`): it takes a message (hiding it for a visibility timeout), decodes its base64 body, calls the
function with the message and its `DequeueCount`; on success it deletes the message; on failure it makes the message
visible again (`visibilityTimeout`, 0 by default) and, once a message has failed `maxDequeueCount` times (5), moves
it to `<queue>-poison`. While the function runs the host keeps the message hidden, renewing its visibility before it
lapses (this loop renews at half the visibility timeout, the host every few minutes of its 10-minute one); a message
whose instance died is not renewed and comes back. Several instances compete for messages. What this loop cannot
show: the host's poll interval and back-off, its own renewal timings, and its scale-out decisions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def _max_dequeue_count() -> int:
    """host.json's `extensions.queues.maxDequeueCount` (the extension's default, 5, without one)."""
    from shared.hostconfig import HOST_JSON

    try:
        return int(json.loads(HOST_JSON.read_text(encoding="utf-8-sig"))["extensions"]["queues"]["maxDequeueCount"])
    except (OSError, ValueError, KeyError, TypeError):
        return 5


MAX_DEQUEUE_COUNT = _max_dequeue_count()


@dataclass
class Drained:
    """What draining a queue did."""

    done: int = 0
    failed: int = 0
    poisoned: list[str] = field(default_factory=list)
    killed: int = 0


def queue_and_poison(settings, name: str) -> tuple:
    """A work queue and the one the host moves its failed messages to (`<queue>-poison`), as the app's settings reach
    them."""
    from shared.storage import queue_client

    return tuple(queue_client(settings.storage, settings.azure, each) for each in (name, f"{name}-poison"))


def queue_message(message):
    """The azure.functions.QueueMessage the host gives the function for a storage message (its trigger metadata)."""
    from azure.functions.meta import Datum
    from azure.functions.queue import QueueMessageInConverter

    metadata = {"Id": Datum(message.id, "string"), "DequeueCount": Datum(str(message.dequeue_count), "json"),
                "PopReceipt": Datum(message.pop_receipt, "string")}
    return QueueMessageInConverter.decode(Datum(message.content, "string"), trigger_metadata=metadata)


def _named(content: str, message_id: str) -> str:
    """What a message is about, for the poisoned list: its subscription or job, else its id."""
    try:
        body = json.loads(content)
    except ValueError:
        return message_id
    return str(body.get("subscription") or body.get("job") or message_id) if isinstance(body, dict) else message_id


def drain(queue, poison, function: Callable, instances: int = 1, visibility: int = 30, kill: int = 0,
          give_up_after: float = 120.0) -> Drained:
    """Run `function` on the queue's messages, `instances` competing, until the queue is empty (continuations that
    are not visible yet included); a message that fails MAX_DEQUEUE_COUNT times goes to `poison`. `kill` instances
    each take one message and die with it unfinished: it comes back after `visibility` seconds, for another."""
    from azure.core.exceptions import ResourceExistsError

    for each in (queue, poison):
        try:
            each.create_queue()
        except ResourceExistsError:
            pass
    result, lock = Drained(), threading.Lock()
    until = time.monotonic() + give_up_after
    to_kill = [kill]
    errors: list[BaseException] = []

    def run(message) -> tuple[bool, str]:
        """The function on one message, its visibility renewed meanwhile: whether it succeeded, and the message's
        latest pop receipt (each renewal changes it)."""
        stop, failed, receipt = threading.Event(), [], [message.pop_receipt]

        def renew() -> None:
            try:
                while not stop.wait(visibility / 2):
                    receipt[0] = queue.update_message(message.id, pop_receipt=receipt[0],
                                                      visibility_timeout=visibility).pop_receipt
            except Exception as error:  # noqa: BLE001 - re-raised in the caller's thread after the drain
                errors.append(error)

        renewer = threading.Thread(target=renew, name="renew", daemon=True)
        renewer.start()
        try:
            function(queue_message(message))
        except Exception:  # noqa: BLE001 - as the host: a failure is the message's retry or its poisoning
            failed.append(True)
        finally:
            stop.set()
            renewer.join()
        return not failed, receipt[0]

    def instance() -> None:
        while time.monotonic() < until:
            messages = list(queue.receive_messages(max_messages=1, visibility_timeout=visibility))
            if not messages:
                if queue.get_queue_properties().approximate_message_count == 0:
                    return
                time.sleep(0.2)  # a continuation not visible yet, or another instance's message
                continue
            [message] = messages
            with lock:
                if to_kill[0] > 0:  # this instance dies holding the message: no delete, no renewal
                    to_kill[0] -= 1
                    result.killed += 1
                    return
            succeeded, receipt = run(message)
            if succeeded:
                queue.delete_message(message.id, pop_receipt=receipt)
                with lock:
                    result.done += 1
                continue
            with lock:
                result.failed += 1
            if message.dequeue_count >= MAX_DEQUEUE_COUNT:
                poison.send_message(message.content)
                queue.delete_message(message.id, pop_receipt=receipt)
                with lock:
                    result.poisoned.append(_named(message.content, message.id))
            else:
                queue.update_message(message.id, pop_receipt=receipt, visibility_timeout=0)

    def guarded() -> None:
        try:
            instance()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread below
            errors.append(error)

    threads = [threading.Thread(target=guarded, name=f"host-{n}") for n in range(instances)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return result
