"""Click's own messages (usage errors, ``--help``) in French, in a real subprocess."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import cli_env, run_cli


def test_unknown_option_bad_choice_missing_file_and_help_read_french(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    unknown = run_cli(["crawl", "--fomr"], env)
    assert unknown.returncode == 2
    assert "Utilisation : " in unknown.stderr and " crawl [OPTIONS]" in unknown.stderr
    assert "Erreur : Option inconnue : « --fomr »." in unknown.stderr
    choice = run_cli(["crawl", "bidule"], env)
    assert "« bidule » n'est pas une valeur possible : 'boamp', 'ted', 'decp'." in choice.stderr
    missing = run_cli(["evaluate", "--gold", str(tmp_path / "absent.jsonl")], env)
    assert "Fichier « " in missing.stderr and "absent.jsonl » introuvable." in missing.stderr
    required = run_cli(["evaluate"], env)
    assert "Erreur : Option manquante '--gold'." in required.stderr
    helped = run_cli(["db", "--help"], env)
    assert helped.returncode == 0
    assert "Afficher cette aide et quitter." in helped.stdout
    assert "Commandes:" in helped.stdout
    for english in ("No such option", "Usage:", "Show this message", "is not one of"):
        assert english not in unknown.stderr + choice.stderr + helped.stdout
