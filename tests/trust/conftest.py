from tests.checklists.core.test_security import signers  # noqa: F401 - the same people sign here
