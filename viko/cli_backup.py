"""Backup commands: backup, restore (the work is in viko.backup)."""

from __future__ import annotations

from pathlib import Path

import click

from viko.cli_common import EX_IOERR, Context, fail, pass_ctx


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


@click.command("backup")
@click.argument("folder", type=click.Path(path_type=Path))
@pass_ctx
def backup_cmd(c: Context, folder: Path) -> None:
    """Copy the data directory into FOLDER while viko keeps running: the catalogue (SQLite's
    online backup), the live index generation and every other file. FOLDER must be new, empty,
    or an interrupted backup (started again). backup.json, written last, lists every file with
    its checksum: a folder without it is incomplete and `viko restore` refuses it."""
    from viko.backup import BackupError, backup

    try:
        manifest = backup(c.settings.data_dir, folder)
    except BackupError as exc:
        fail(f"{exc}")
    except OSError as exc:  # a full or failing backup disk: the folder stays marked incomplete
        fail(f"backup failed, {folder} is incomplete (no backup.json): {exc}", EX_IOERR)
    index = (f"index {manifest.generation} ({manifest.index.get('documents')} documents)" if manifest.generation
             else "no index yet")
    click.echo(f"backed up {c.settings.data_dir} to {folder}: {len(manifest.files)} files, "
               f"{_size(manifest.total_bytes)}, {index}, in {manifest.seconds:.1f} s")
    for line in manifest.skipped:
        click.echo(f"  left out: {line}", err=True)


@click.command("restore")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--data", "target", type=click.Path(path_type=Path), default=None,
              help="Data directory to restore into (default: viko's --data, $VIKO_DATA or ./data).")
@click.option("--replace", is_flag=True,
              help="Restore over an existing data directory: it is renamed aside (kept), not deleted.")
@click.option("--check", is_flag=True, help="Only check that FOLDER is a complete, intact backup.")
@pass_ctx
def restore_cmd(c: Context, folder: Path, target: Path | None, replace: bool, check: bool) -> None:
    """Restore the backup in FOLDER. Every file is checked against its checksum while it is
    copied into a temporary folder beside the data directory, which then takes its place in
    one rename: an incomplete or damaged backup is refused and the data directory is left as
    it was. Stop `viko serve` on that data directory first."""
    from viko.backup import BackupError, restore, verify

    data = target or c.settings.data_dir
    try:
        if check:
            manifest = verify(folder)
            click.echo(f"{folder}: a complete backup of {manifest.source} taken {manifest.created} "
                       f"({len(manifest.files)} files, {_size(manifest.total_bytes)}), every checksum matches")
            return
        done = restore(folder, data, replace=replace)
    except BackupError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"restore failed, {data} is as it was: {exc}", EX_IOERR)
    manifest = done.manifest
    click.echo(f"restored the backup of {manifest.created} ({manifest.source}) into {done.data_dir}: "
               f"{len(manifest.files)} files, {_size(manifest.total_bytes)}"
               + (f", index {manifest.generation}" if manifest.generation else ", no index"))
    if done.moved_aside is not None:
        click.echo(f"the data directory that was there is kept as {done.moved_aside}")


def register(group: click.Group) -> None:
    for command in (backup_cmd, restore_cmd):
        group.add_command(command)
