# The library as an installable package: libnn.a and libnn.so (soname libnn.so.0), the public
# headers (<nn.h>, which includes <nn/*.h>), nn.pc for pkg-config, the man page of nnrun, and
# the example programs of apps/ built against the library.
#
#   make install [PREFIX=/usr/local] [DESTDIR=/staging]      make uninstall (same variables)

NN_VERSION  := 0.3.0
NN_SOMAJOR  := 0
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      := $(PREFIX)/bin
LIBDIR      := $(PREFIX)/lib
INCDIR      := $(PREFIX)/include
PCDIR       := $(LIBDIR)/pkgconfig
MANDIR      := $(PREFIX)/share/man/man1

# Every object is position-independent, so the one set of objects makes both libraries.
PIC := -fPIC

SONAME   := libnn.so.$(NN_SOMAJOR)
SO_REAL  := libnn.so.$(NN_VERSION)
# The module headers the umbrella includes, installed as <nn/NAME.h>.
PUB_HDRS := $(filter-out core/nn.h,$(wildcard core/*.h))
EXAMPLES := bin/classify bin/custom_layer bin/two_branch

all: $(B)/$(SO_REAL) $(EXAMPLES)

# Only the nn_ names are exported (lib.map); the rest stays inside the library.
$(B)/$(SO_REAL): $(LIB_OBJ) lib.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib.map -Wl,-z,defs \
	    -o $@ $(LIB_OBJ) $(LDLIBS)
	ln -sf $(SO_REAL) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libnn.so

# The examples include <nn.h> only; in the tree they link the static library.
$(EXAMPLES): bin/%: $(B)/apps/%.o $(B)/libnn.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/nn.pc: lib.mk
	@mkdir -p $(B)
	printf '%s\n' 'prefix=$(PREFIX)' 'exec_prefix=$${prefix}' 'libdir=$(LIBDIR)' \
	    'includedir=$(INCDIR)' '' 'Name: nn' \
	    'Description: nnrun neural-network runtime: graphs of layers from YAML, LeNet-5' \
	    'Version: $(NN_VERSION)' 'Requires.private: $(PKGS)' \
	    'Libs: -L$${libdir} -lnn -lm' 'Libs.private: -lm -lpthread' 'Cflags: -I$${includedir}' >$@

# nn.pc carries PREFIX, so it is remade for every install.
.PHONY: install uninstall FORCE
$(B)/nn.pc: FORCE

install: all $(B)/nn.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/nn \
	    $(DESTDIR)$(PCDIR) $(DESTDIR)$(MANDIR)
	install -m 755 bin/nnrun $(DESTDIR)$(BINDIR)/nnrun
	install -m 644 $(B)/libnn.a $(DESTDIR)$(LIBDIR)/libnn.a
	install -m 755 $(B)/$(SO_REAL) $(DESTDIR)$(LIBDIR)/$(SO_REAL)
	ln -sf $(SO_REAL) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libnn.so
	sed 's|^#include "\([a-z_]*\.h\)"|#include "nn/\1"|' core/nn.h >$(DESTDIR)$(INCDIR)/nn.h
	chmod 644 $(DESTDIR)$(INCDIR)/nn.h
	install -m 644 $(PUB_HDRS) $(DESTDIR)$(INCDIR)/nn/
	install -m 644 $(B)/nn.pc $(DESTDIR)$(PCDIR)/nn.pc
	install -m 644 docs/nnrun.1 $(DESTDIR)$(MANDIR)/nnrun.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nnrun $(DESTDIR)$(LIBDIR)/libnn.a \
	    $(DESTDIR)$(LIBDIR)/$(SO_REAL) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libnn.so $(DESTDIR)$(INCDIR)/nn.h \
	    $(addprefix $(DESTDIR)$(INCDIR)/nn/,$(notdir $(PUB_HDRS))) \
	    $(DESTDIR)$(PCDIR)/nn.pc $(DESTDIR)$(MANDIR)/nnrun.1
	-rmdir $(DESTDIR)$(INCDIR)/nn
