"""Development serves static files from the finders; WhiteNoise must not warn about STATIC_ROOT."""

import warnings

from whitenoise.middleware import WhiteNoiseMiddleware


def test_whitenoise_starts_without_a_missing_directory_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WhiteNoiseMiddleware(lambda request: None)
    assert not [w for w in caught if "No directory at" in str(w.message)]
