"""Events the decider applies (defined in `ostinato.protocol.events`)."""

from ostinato.protocol.events import *  # noqa: F401,F403
from ostinato.protocol.events import __all__  # noqa: F401
