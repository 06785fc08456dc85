"""AreaOfApplicability(cv=...) takes a list of (train, test) pairs like a splitter."""

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from geoagb.applicability import AreaOfApplicability


def test_aoa_cv_iterable_equals_splitter():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"x": rng.uniform(0, 1e4, 50), "y": rng.uniform(0, 1e4, 50), "a": rng.normal(size=50)}
    )
    X["b"] = rng.normal(size=50)
    kf = KFold(5, shuffle=True, random_state=0)
    a = AreaOfApplicability(cv=kf).fit(X)
    b = AreaOfApplicability(cv=list(kf.split(X))).fit(X)
    np.testing.assert_array_equal(a.training_di_, b.training_di_)
    c = AreaOfApplicability().fit(X)  # no folds: nearest other sample, a different DI
    assert not np.array_equal(a.training_di_, c.training_di_)
