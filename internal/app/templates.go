package app

import (
	"sync"

	"certseal/server"
	"certseal/templates"
)

// templateParts holds each App's template store and renderer, keyed by *App (App's fields are
// declared in app.go, which the parts do not edit). The entry is removed when the App closes.
var templateParts sync.Map // *App -> *templateWiring

type templateWiring struct {
	store    *templates.Store
	renderer *templates.Renderer
}

// openTemplates wires the templates part: the store of template versions (built-ins plus uploads)
// and the one shared renderer, and the templates HTTP module (a.Server.Extra). It never fails.
func (a *App) openTemplates() error {
	w := &templateWiring{store: templates.NewStore(a.DB, a.Clock), renderer: templates.NewRenderer()}
	templateParts.Store(a, w)
	a.closers = append(a.closers, func() error { templateParts.Delete(a); return nil })
	a.Server.Extra = append(a.Server.Extra, server.NewTemplateAPI(w.store, w.renderer, a.Clock))
	return nil
}

// Templates returns the App's template store (templates by id and version), or nil after Close.
func (a *App) Templates() *templates.Store {
	if w, ok := templateParts.Load(a); ok {
		return w.(*templateWiring).store
	}
	return nil
}

// Renderer returns the App's shared certificate renderer, or nil after Close. One renderer
// serves every goroutine: the font is parsed once per process.
func (a *App) Renderer() *templates.Renderer {
	if w, ok := templateParts.Load(a); ok {
		return w.(*templateWiring).renderer
	}
	return nil
}
