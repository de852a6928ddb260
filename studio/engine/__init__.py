"""Generation: expanded prompts -> samples, through litellm (imported lazily, never at start-up)."""

from studio.engine.engine import Engine, Stats
from studio.engine.models import default_model, describe_model
from studio.engine.types import EngineError, Request, Result

__all__ = ["Engine", "EngineError", "Request", "Result", "Stats", "default_model", "describe_model"]
