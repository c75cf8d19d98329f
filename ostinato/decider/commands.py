"""Commands the decider gives (defined in `ostinato.protocol.commands`)."""

from ostinato.protocol.commands import *  # noqa: F401,F403
from ostinato.protocol.commands import __all__  # noqa: F401
