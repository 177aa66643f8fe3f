# The Slurm SPANK plugin (slurm/): amlshim_spank.so lets srun/sbatch
# --amlshim=... run each task under the shim. Built when Slurm's spank.h is
# there (Debian: libslurm-dev; SPANK_BUILT is empty otherwise). It links the
# pure parser objects (no topology, no libaml) so a bad value is refused with
# the shim's own words; Slurm's symbols come from the process that loads it.
# Installed as $(SPANK_PLUGINDIR)/amlshim_spank.so with a plugstack.conf.d
# snippet in $(SLURM_CONFDIR)/plugstack.conf.d/amlshim.conf (/etc/slurm for
# PREFIX=/usr, PREFIX/etc/slurm otherwise, so a test install never reaches
# the machine's Slurm).

SPANK_HEADER := $(wildcard $(SLURM_INCLUDEDIR)/slurm/spank.h)
SPANK_PLUGIN := $(BUILD)/lib/slurm/amlshim_spank.so
SPANK_BUILT := $(if $(SPANK_HEADER),$(SPANK_PLUGIN))
.PHONY: spank install-spank uninstall-spank

spank: $(SPANK_PLUGIN)

$(SPANK_PLUGIN): slurm/amlshim_spank.c $(PARSER_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -isystem $(SLURM_INCLUDEDIR) -Ipolicy $(DEPFLAGS) -shared \
	  -DAMLSHIM_DEFAULT_LIBRARY='"$(LIBDIR)/libamlshim.so"' -o $@ $< $(PARSER_OBJS)

install-spank: $(SPANK_PLUGIN)
	install -d $(DESTDIR)$(SPANK_PLUGINDIR) $(DESTDIR)$(SLURM_CONFDIR)/plugstack.conf.d
	install -m 755 $(SPANK_PLUGIN) $(DESTDIR)$(SPANK_PLUGINDIR)/amlshim_spank.so
	printf '%s\n' '# amlshim: srun/sbatch --amlshim=POLICY (see amlshim(7)). Site arguments after' \
	  '# the library: default_policy=P default_rules=R default_stats=1|json' \
	  '# default_stats_dir=DIR forbid=policy,rules,stats,stats-dir' \
	  'optional $(SPANK_PLUGINDIR)/amlshim_spank.so library=$(LIBDIR)/libamlshim.so' \
	  >$(DESTDIR)$(SLURM_CONFDIR)/plugstack.conf.d/amlshim.conf

uninstall-spank:
	rm -f $(DESTDIR)$(SPANK_PLUGINDIR)/amlshim_spank.so $(DESTDIR)$(SLURM_CONFDIR)/plugstack.conf.d/amlshim.conf
