"""How the email service reaches its SMTP server, and what its mail looks like."""

from __future__ import annotations

from email.headerregistry import Address
from email.policy import default as default_policy

from pydantic import Field, SecretStr, field_validator, model_validator

from contracts.events import address_problem, header_text_problem
from runtime.safety import secret_problem
from runtime.settings import ServiceSettings


class EmailSettings(ServiceSettings):
    smtp_host: str = Field("localhost", min_length=1, description="The SMTP server's host name or IP.")
    smtp_port: int = Field(1025, ge=1, le=65535, description="The SMTP server's port.")
    smtp_username: str | None = Field(None, description="Log in as this user; unset means no AUTH.")
    smtp_password: SecretStr | None = Field(None, description="Password for SMTP_USERNAME.")
    smtp_starttls: bool = Field(
        False, description="Upgrade the connection with STARTTLS, and fail if the server can't."
    )
    smtp_tls: bool = Field(False, description="Speak TLS from the first byte (implicit TLS, port 465).")
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds to wait on any one SMTP step.")
    smtp_validate_certs: bool = Field(
        True, description="Check the server's TLS certificate; off only for test servers."
    )
    email_from: str = Field(
        "Offload <noreply@localhost>",
        description="From header; its address is also the envelope sender.",
    )
    email_message_id_domain: str = Field(
        "offload.local",
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$",
        description="Right-hand side of every Message-ID the service mints.",
    )

    @field_validator("email_from")
    @classmethod
    def _one_mailbox(cls, email_from: str) -> str:
        sender_address(email_from)
        return email_from

    @model_validator(mode="after")
    def _coherent_transport(self) -> EmailSettings:
        if self.smtp_starttls and self.smtp_tls:
            raise ValueError(
                "SMTP_STARTTLS and SMTP_TLS are exclusive: STARTTLS upgrades a plain "
                "connection (port 587), SMTP_TLS starts encrypted (port 465); pick one"
            )
        if self.smtp_username is not None and self.smtp_password is None:
            raise ValueError("SMTP_USERNAME is set but SMTP_PASSWORD is not")
        return self

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.smtp_password is not None and (
            problem := secret_problem("SMTP_PASSWORD", self.smtp_password.get_secret_value())
        ):
            problems.append(problem)
        if not self.smtp_validate_certs:
            problems.append("SMTP_VALIDATE_CERTS is off, so any server can pose as the SMTP server")
        return problems

    @property
    def sender(self) -> str:
        """The envelope sender: the bare address of EMAIL_FROM."""
        return sender_address(self.email_from)


def sender_address(email_from: str) -> str:
    return sender_mailbox(email_from)[1]


def sender_mailbox(email_from: str) -> tuple[str, str]:
    """EMAIL_FROM's display name and address."""
    try:
        header = default_policy.header_factory("From", email_from)
    except ValueError as exc:  # e.g. a name whose encoded words decode to a line break
        raise ValueError(f"EMAIL_FROM: {exc}, got {email_from!r}") from exc
    addresses: tuple[Address, ...] = header.addresses
    if len(addresses) != 1 or header.defects or not addresses[0].domain:
        raise ValueError(f"EMAIL_FROM must be one mailbox like 'Name <user@host>', got {email_from!r}")
    display_name, addr_spec = addresses[0].display_name, addresses[0].addr_spec
    # The name is read as header text, so encoded words in it are decoded:
    # what they decode to must still be one line.
    problem = header_text_problem(display_name) or address_problem(addr_spec)
    if problem is None and not addr_spec.isascii():
        problem = f"{addr_spec!r}: write an internationalised domain in its ASCII (xn--) form"
    if problem is not None:
        raise ValueError(f"EMAIL_FROM: {problem}")
    return display_name, addr_spec
