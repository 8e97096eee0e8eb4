"""A person's rights over what agencies hold about them: the export of all of it (GDPR Art 15
and 20) and erasure requests (Art 17), which an agency's owner carries out or refuses with a
reason. Erasure is the one exception to append-only evidence, and is itself audited
(DESIGN.md "Writes")."""
