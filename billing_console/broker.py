"""The embedded broker, for one machine: kombu's filesystem transport, each message written
whole before a worker can take it.

kombu writes a message straight into the queue's folder, and a worker takes a file by
moving it away and reading it: a worker polling while a message is being written took it
empty and died on it (a JSONDecodeError in its consumer, which stops the worker). Here a
message is written under a name the queue does not read, then renamed into place, which is
atomic within a file system.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps

# What a message is written as until it is whole: the queue reads only "<…>.<queue>.msg".
PARTIAL = ".partial"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`, named as kombu names it (its time first, so that
        messages are taken in order)."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        try:
            with open(path + PARTIAL, "wb") as partial:
                partial.write(dumps(payload).encode())
            os.replace(path + PARTIAL, path)
        except OSError as error:
            raise ChannelError(f"Cannot add file {name!r} to the queue's folder") from error


class Transport(filesystem.Transport):
    Channel = Channel
