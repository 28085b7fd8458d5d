from scsim.cli import app

app(prog_name="scsim")
