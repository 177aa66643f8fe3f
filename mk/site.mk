# Site integration (man/, dist/): install and uninstall of amlshim(1),
# amlshim(7), aml_area(3) (libaml(3) a link to it) under $(MANDIR), a Lua
# modulefile for Lmod under $(MODULEDIR) and the bash completion under
# $(BASHCOMPDIR).

.PHONY: install-site uninstall-site

install-site:
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(MODULEDIR)/amlshim $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 man/amlshim.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/amlshim.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 man/aml_area.3 $(DESTDIR)$(MANDIR)/man3/
	ln -sf aml_area.3 $(DESTDIR)$(MANDIR)/man3/libaml.3
	install -m 644 dist/bash-completion/amlshim $(DESTDIR)$(BASHCOMPDIR)/amlshim
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	  -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@MANDIR@|$(MANDIR)|g' \
	  dist/modulefile.lua.in >$(DESTDIR)$(MODULEDIR)/amlshim/$(VERSION).lua

uninstall-site:
	rm -f $(DESTDIR)$(MANDIR)/man1/amlshim.1 $(DESTDIR)$(MANDIR)/man7/amlshim.7 \
	  $(DESTDIR)$(MANDIR)/man3/aml_area.3 $(DESTDIR)$(MANDIR)/man3/libaml.3 \
	  $(DESTDIR)$(BASHCOMPDIR)/amlshim $(DESTDIR)$(MODULEDIR)/amlshim/$(VERSION).lua
	-rmdir $(DESTDIR)$(MODULEDIR)/amlshim 2>/dev/null
