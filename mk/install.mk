# install and uninstall: libaml (library, headers, pkg-config file), the
# shim and the amlshim command, then the Slurm plugin (when built) and the
# site files (mk/slurm.mk, mk/site.mk).

INSTALL_PARTS := install-lib install-cli $(if $(SPANK_HEADER),install-spank) install-site
UNINSTALL_PARTS := uninstall-lib uninstall-cli uninstall-spank uninstall-site
.PHONY: install uninstall install-lib uninstall-lib install-cli uninstall-cli

install: $(INSTALL_PARTS)
uninstall: $(UNINSTALL_PARTS)

install-lib: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/aml/area $(DESTDIR)$(INCLUDEDIR)/aml/utils
	install -m 644 include/aml.h include/amlshim.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/aml/area/*.h $(DESTDIR)$(INCLUDEDIR)/aml/area/
	install -m 644 include/aml/utils/*.h $(DESTDIR)$(INCLUDEDIR)/aml/utils/
	install -m 755 $(LIBAML_SO).0 $(DESTDIR)$(LIBDIR)/
	ln -sf libaml.so.0 $(DESTDIR)$(LIBDIR)/libaml.so
	install -m 644 $(LIBAML_A) $(DESTDIR)$(LIBDIR)/
	$(call write_pc,$(DESTDIR)$(LIBDIR)/pkgconfig/aml.pc)

uninstall-lib:
	rm -f $(DESTDIR)$(INCLUDEDIR)/aml.h $(DESTDIR)$(INCLUDEDIR)/amlshim.h $(DESTDIR)$(LIBDIR)/libaml.so* $(DESTDIR)$(LIBDIR)/libaml.a \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/aml.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/aml

install-cli: lib $(AMLSHIM_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)
	install -m 755 $(AMLSHIM_BIN) $(DESTDIR)$(BINDIR)/amlshim
	install -m 755 $(LIBAMLSHIM) $(DESTDIR)$(LIBDIR)/libamlshim.so

uninstall-cli:
	rm -f $(DESTDIR)$(BINDIR)/amlshim $(DESTDIR)$(LIBDIR)/libamlshim.so
