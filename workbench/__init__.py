"""The translators' workbench: counterparts, sentence alignment, bitext mining,
concordance, TMX/TBX exchange and the align-all runner."""
