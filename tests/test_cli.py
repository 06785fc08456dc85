import pandas as pd

from geoagb.cli import main


def test_demo_cv_step_writes_its_outputs(tmp_path):
    assert main(["demo", "--quick", "--steps", "cv", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "cv_table.csv")
    assert set(table["cv"]) == {"2 km blocks", "5 km blocks", "10 km blocks", "random"}
    assert set(table["model"]) == {"XGBoost", "RandomForest"}
    for name in ("fold_map_5km.png", "block_size_sensitivity.png", "pred_obs_xgboost_5km.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    # leakage made visible: random CV is more optimistic than 10 km blocks
    xgb = table[table["model"] == "XGBoost"].set_index("cv")
    assert xgb.loc["random", "validation_r2_mean"] > xgb.loc["10 km blocks", "validation_r2_mean"]


def test_import_geoagb_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, geoagb, geoagb.model_selection, geoagb.deep; sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
