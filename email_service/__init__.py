"""The email service: sends each `EmailRequested` through an SMTP server."""
