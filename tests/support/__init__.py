"""Code the tests share: builders, real servers on loopback. Not tests themselves."""
