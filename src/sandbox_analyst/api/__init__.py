"""The HTTP front door: the FastAPI app factory, authentication, routers, error mapping."""

from sandbox_analyst.api.app import SingleUserRefused, check_single_user, create_app, is_loopback

__all__ = ["SingleUserRefused", "check_single_user", "create_app", "is_loopback"]
