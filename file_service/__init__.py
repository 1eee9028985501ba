"""The file service: checksums, CSV statistics and conversions of stored files, in constant memory.

Files arrive by reference (a key or URL in storage, never their bytes), are
read as a stream, and every output goes back to storage under
`outputs/<job_id>/`.
"""
