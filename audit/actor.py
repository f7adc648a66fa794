"""Who is acting: an admin user, the admin token, an agent key, a command or the scheduler.

Services take an ``actor`` and wrap their writes in ``actor.audit_context()`` so that
django-auditlog records the change with the right actor, whatever the entry point.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditlog.context import auditlog_value, set_actor, set_extra_data

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class Actor:
    """``label`` is what the audit trail shows, e.g. ``admin-token`` or ``key:t4_ab12cd34``."""

    label: str
    user: AbstractBaseUser | None = None
    remote_addr: str | None = None

    @classmethod
    def for_user(cls, user: AbstractBaseUser, remote_addr: str | None = None) -> Actor:
        return cls(label=f"user:{user.get_username()}", user=user, remote_addr=remote_addr)

    @classmethod
    def for_key(cls, key: Any, remote_addr: str | None = None) -> Actor:
        return cls(label=f"key:{key.prefix} ({key.agent_id})", remote_addr=remote_addr)

    @classmethod
    def admin_token(cls, remote_addr: str | None = None) -> Actor:
        return cls(label="admin-token", remote_addr=remote_addr)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(label=name)

    @contextlib.contextmanager
    def audit_context(self) -> Iterator[None]:
        # django-auditlog never resets its context variable when a context ends
        # (jazzband/django-auditlog#846). Inside another context (AuditlogMiddleware's, on
        # every request) the outer one would then disconnect our receiver a second time on
        # exit and leave its own connected for good: one more receiver per write request.
        # Putting the outer value back makes each context disconnect its own receiver.
        outer = auditlog_value.get(None)
        try:
            if self.user is not None:
                with set_actor(self.user, remote_addr=self.remote_addr):
                    yield
                return
            data = {
                "actor_email": self.label[:254],
                "additional_data": {"actor": self.label},
                "remote_addr": self.remote_addr,
            }
            with set_extra_data(context_data=data):
                yield
        finally:
            if outer is not None:
                auditlog_value.set(outer)

    def __str__(self) -> str:
        return self.label


SCHEDULER = Actor.system("scheduler")
COMMAND_LINE = Actor.system("manage.py")
